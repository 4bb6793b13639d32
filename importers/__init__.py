"""File and feed ingest: readers (CSV in its encodings, XLSX, JSONL), header mapping,
row validation with the shared record schema (:mod:`registry.records`), and the import
engine that hands valid records to the registry in batches."""
