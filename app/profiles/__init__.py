"""Contractor profiles, their public page, private file storage and identity verification (KYC)."""
