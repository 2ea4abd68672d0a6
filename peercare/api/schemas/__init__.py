"""The API's request and response models, one module per group of routes (`common` holds the
shapes every route shares). The classes' names are the schema's component names in
`/openapi.json`, so a class keeps its name wherever it lives and no two share one."""
