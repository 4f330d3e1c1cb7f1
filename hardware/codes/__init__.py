"""Code readers (keyboard wedge, serial, images) and what their codes mean."""
