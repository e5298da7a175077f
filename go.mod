module github.com/authflow/authflow

go 1.26.8

require github.com/valyala/fasttemplate v1.2.2

require github.com/valyala/bytebufferpool v1.0.0 // indirect
