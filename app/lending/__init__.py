"""Lending: members lend things to each other for some days, against a deposit."""
