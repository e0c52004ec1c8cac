"""Contracts: templates, versions, signatures, amendments, PDFs, review assistant."""
