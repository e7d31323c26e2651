"""HTTP routers of the kotae service; :func:`kotae.service.app.create_app` assembles them."""
