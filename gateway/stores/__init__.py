"""Access layers for the two stores. Every query the gateway sends goes through here."""
