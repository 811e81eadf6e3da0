"""The indicator engine: definitions as data, compiled to SQL, evaluated for any unit and date."""
