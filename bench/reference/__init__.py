"""The reference design: a shop written the common DRF way, built plainly so `make bench` can
measure ours against it.

A classic Django project: DRF ModelViewSets with SimpleJWT, the product list cached per URL in
Redis and invalidated by signals, checkout under `select_for_update()`, and a post_save signal
that pushes order status changes to the owner's Channels socket inside the request. It is the
baseline our stack is compared with, so it is deliberately not optimised; it is not part of the
shop and nothing outside `bench/` imports it.

    DJANGO_SETTINGS_MODULE=bench.reference.settings DATABASE_URL=... REDIS_URL=... \
        SECRET_KEY=... .venv/bin/python -m django migrate
    .venv/bin/gunicorn bench.reference.wsgi -w 1          # plain HTTP
    .venv/bin/uvicorn bench.reference.asgi:application    # HTTP + WebSockets
"""
