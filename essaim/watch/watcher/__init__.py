"""The watcher process (`essaim watcher`): claims due sources, fetches and records them."""
