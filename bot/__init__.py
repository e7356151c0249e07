"""Service wiring at the top (app, service, scheduler, pipeline); one subpackage per concern below."""
