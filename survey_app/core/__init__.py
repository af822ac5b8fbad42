"""Pages that belong to no single domain: home, health check, language switch, error pages."""
