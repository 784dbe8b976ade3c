"""The load test (`make load`): virtual users of each role against gunicorn, PostgreSQL and Redis.

load/scenario.py holds what the users do (the endpoint mix: extend it there);
load/run.py prepares the bench database, the users and the server, runs the
users and prints the figures.
"""
