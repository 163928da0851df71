module github.com/eventrunner/eventrunner

go 1.26
