"""What every part of the web application shares: the request's runtime and session,
tokens and roles, the one error table, rate limits, metrics, the OpenAPI document, the
operations endpoints, the base schemas, CSRF for forms and the page blueprint with its
security headers.
"""
