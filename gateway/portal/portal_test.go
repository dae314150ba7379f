package portal
