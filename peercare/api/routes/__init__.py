"""The API's routers, one module per audience; `peercare.api.app.create_app` mounts them all."""
