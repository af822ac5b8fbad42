"""Customers and what they bought: the ground every analysis stands on."""
