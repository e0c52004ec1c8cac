"""Drafting: a contract from a proposal or from scratch, and the editor that shapes its terms."""
