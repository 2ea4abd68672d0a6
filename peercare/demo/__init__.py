"""`peercare demo`: a Stack Exchange dump replayed as a brand, through the generic webhook."""
