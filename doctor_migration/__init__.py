"""Migrate clean doctors from a legacy Django/PostgreSQL database into Supabase."""

__version__ = "0.1.0"
