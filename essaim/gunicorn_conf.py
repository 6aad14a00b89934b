"""gunicorn's settings for the web process (`gunicorn -c python:essaim.gunicorn_conf`).

Read through essaim.env, so HOST, PORT and WEB_WORKERS come from the environment or `.env` with
the same parsing as every other setting (a process manager's own reading of `.env` is not used).
"""

from essaim.env import env_int, env_str

bind = f"{env_str('HOST', '127.0.0.1')}:{env_int('PORT', 8000)}"
workers = env_int("WEB_WORKERS", 3)
timeout = 60
accesslog = "-"
# Tokens of links (confirmations, logins, unsubscribes) are keys: replaced by [redacted] in logs.
logger_class = "essaim.lib.gunicorn_logging.RedactingLogger"
