"""The Serve page's pieces: starting a model server for chosen runs (`start`) and one running server's view
(`server`: address, state, a test request, snippets, live figures, Stop). UI only: starting, finding, testing
and stopping servers, and reading their figures, is `layerlab.serve.manage`."""
