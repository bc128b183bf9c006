"""What each layer knows: linear probes per layer, feed-forward neurons, their NMF factors.

- `data`: probe sentences (words + one label per word per label set): the shipped set and a user's CSV.
- `features`: every layer's hidden state per word, from one batched, length-bucketed pass.
- `probes`: logistic-regression probes per layer with a majority baseline, Hewitt & Liang's control
  task and Tenney et al.'s centre of gravity.
- `neurons`: feed-forward activations of the text on screen, top neurons and tokens, NMF factors, what
  a neuron writes (through the MLM head), the neurons most active per class over a data set.
- `figures`: plotly figures of the above (pure functions).

No Streamlit here; every result is a frozen dataclass of read-only numpy arrays.
"""
