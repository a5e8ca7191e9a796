"""Demo support: an OAI-PMH replay server over recorded real responses."""
