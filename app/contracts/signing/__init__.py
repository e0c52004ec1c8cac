"""Versions and signing: each send freezes the terms as a version; both parties sign one version's hash."""
