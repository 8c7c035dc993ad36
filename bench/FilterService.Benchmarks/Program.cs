// Placeholder: the benchmark suites are being added in bench/ (see bench/README.md once present).
return 0;
