"""Public web pages, the public read model and the operator dashboard."""
