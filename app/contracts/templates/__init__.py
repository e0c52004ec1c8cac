"""Contract templates: the platform's and companies' clause templates, filled in inside a sandbox."""
