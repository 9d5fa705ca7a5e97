"""pytest puts this folder on sys.path, so both example receivers import recordings_db."""
