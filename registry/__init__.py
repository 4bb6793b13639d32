"""The registry's domain: storage, records, lists, the rules run over them, supervision,
intake, disclosure and delivery — one package per capability (docs/architecture.md).

Layers, lowest first; a package may import only the ones below it:
``core`` → ``records`` → ``lists`` → ``evaluation`` → ``supervision`` | ``intake`` →
``disclosure`` | ``delivery`` → ``schema``.  Nothing here imports ``api``, ``importers``
or ``cli``.
"""
