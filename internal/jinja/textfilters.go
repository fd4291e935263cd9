package jinja

func filterURLize(_ *renderer, v any, a *args) any {
	throw("urlize is not supported")
	return nil
}

func filterWordwrap(_ *renderer, v any, a *args) any {
	throw("wordwrap is not supported")
	return nil
}
