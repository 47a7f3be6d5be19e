print("advlab")
