"""The dashboard's widgets. They read the store; they never call a provider."""
