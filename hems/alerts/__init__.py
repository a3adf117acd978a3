"""Overload warnings: breaker thermal images, capacity-tariff steps, contracted power (Italy)."""
