// A worker that never answers (decoder_test: frames are decoded in-thread while a worker starts).
self.onmessage = () => {};
