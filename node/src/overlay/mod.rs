//! The Pastry overlay (placeholder, replaced by the overlay implementation).
