"""The inter-department exchange (交换体系; issue #8 items 1, 2, 5; docs/exchange.md)."""
