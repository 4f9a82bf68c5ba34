"""ibmon provider plugin: crm (in progress)."""
