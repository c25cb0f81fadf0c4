"""Model families behind one interface (:class:`engine.models.base.XMCModel`)."""
