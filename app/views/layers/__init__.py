"""The What layers know page: page.py lays out; compute.py (cached computations), jobs.py (the shipped probes as
a background job; both shared with the lessons' step 10), probes.py (probe curves, a user's labels, exports),
neurons.py (the neurons of the text on screen)."""
