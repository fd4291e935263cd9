module github.com/selfhosted-go/selfhosted

go 1.26.0

require (
	github.com/kballard/go-shellquote v0.0.0-20180428030007-95032a82bc51
	github.com/magefile/mage v1.15.0
	github.com/stretchr/testify v1.12.1
)

require (
	github.com/compose-spec/compose-go/v2 v2.16.2 // indirect
	github.com/flosch/pongo2/v6 v6.0.0 // indirect
	github.com/sirupsen/logrus v1.10.1 // indirect
	go.yaml.in/yaml/v3 v3.0.5 // indirect
	golang.org/x/sys v0.13.0 // indirect
)

tool github.com/magefile/mage
