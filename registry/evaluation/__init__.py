"""Running the rules over the registry: facts in, decisions stored, lists updated.

By phase: ``queue`` (the dirty-entity queue and subject locks), ``facts`` (aggregates in
SQL), ``plan`` (what the engine's decisions mean for entries and penalties), ``apply``
(writing them, with decisions, events and audit), ``batch`` (one batch through those
phases, the engines and the stored pack), ``runs`` (the entry points: now, after a
write, the queue, everything), ``workers`` (processes), ``preview`` (a dry run against a
candidate pack), ``grades`` (credit grades with history), ``sweep`` (what time does) and
``revocation`` (revoke, then re-run the rules).  The pipeline itself is described in
:mod:`registry.evaluation.batch`.
"""
