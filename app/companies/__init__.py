"""Client companies: members, verification, and invitations to colleagues and contractors."""
