"""Review: the rules that check a draft's terms, and the optional second opinion over HTTP."""
