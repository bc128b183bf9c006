"""The Data set page under a server's row cap (issue 17): the `max_data_rows` setting and its message (AppTest)."""

from __future__ import annotations

import pytest

from explain.settings import use_settings
from tests.test_dataset_app import open_dataset, sample_csv, upload

pytestmark = pytest.mark.app  # AppTest: the Streamlit app runs


def test_an_upload_over_max_data_rows_is_sampled_down_with_a_message_naming_the_setting():
    with use_settings(max_data_rows=30):
        at = upload(open_dataset(), "reviews.csv", sample_csv(40))
        shown = " ".join(m.value for m in [*at.info, *at.warning])
        assert "at most 30 rows" in shown and "max_data_rows" in shown
        assert "The file has 40 rows; a random sample of 30 is used." in shown
    with use_settings(max_data_rows=100):  # under the cap: no message
        at = upload(open_dataset(), "reviews.csv", sample_csv(40))
        assert "max_data_rows" not in " ".join(m.value for m in [*at.info, *at.warning])
