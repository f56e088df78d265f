"""Report queries (sales, energy, alarms, offline devices) as tables, and their Excel export."""
