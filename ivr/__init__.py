"""The IVR: the contact-center config, its validation, and pure TwiML for each node."""
