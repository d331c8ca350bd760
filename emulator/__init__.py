"""A Discord emulator on 127.0.0.1: REST and gateway, with every request body checked."""
