"""Documents and verification: the PDF of a version, the proof bundle, and the public verification page."""
