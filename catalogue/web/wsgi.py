"""The WSGI entry point for a server of your choice, e.g. several gunicorn workers:

    gunicorn --workers 4 --worker-class gthread --threads 8 --bind 0.0.0.0:8000 \\
        'catalogue.web.wsgi:app'

Settings come from the environment (``CATALOGUE_*``) as for every command. Each worker
imports this module after the fork (do not ``--preload``). Run the indexer apart, once:
``catalogue indexer``.
"""

from catalogue.web.app import create_app

app = create_app()
